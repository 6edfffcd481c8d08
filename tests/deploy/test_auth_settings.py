"""Production serves requests only with a signing secret of its own, taken from a Secret (issue 11, item 1)."""

from __future__ import annotations

from typing import Any

from shared.http.tokens import DEV_ISSUER
from tests.deploy.manifests import K8S, of_kind, rendered

PROD = K8S / "overlays" / "prod"


def test_every_prod_service_runs_the_prod_profile_with_its_signing_secret_from_a_secret() -> None:
    services = [
        d
        for d in of_kind(rendered(PROD), "Deployment")
        if d["metadata"]["labels"].get("app.kubernetes.io/component") == "service"
    ]
    assert len(services) >= 4, [d["metadata"]["name"] for d in services]
    for deployment in services:
        name = deployment["metadata"]["name"]
        container: dict[str, Any] = deployment["spec"]["template"]["spec"]["containers"][0]
        env = {variable["name"]: variable for variable in container["env"]}
        assert env["AUTH_PROFILE"].get("value") == "prod", name
        assert env["AUTH_ISSUER"].get("value") not in (None, DEV_ISSUER), name
        assert "value" not in env["AUTH_SECRET"], f"{name}: AUTH_SECRET must come from a Secret, not the repo"
        assert env["AUTH_SECRET"]["valueFrom"]["secretKeyRef"] == {"name": "fulfillment-auth", "key": "secret"}, name
        # The prod profile refuses them at start anyway; a manifest that sets one is a mistake to catch here first.
        assert not [variable for variable in env if variable.startswith("UNSAFE_")], name
