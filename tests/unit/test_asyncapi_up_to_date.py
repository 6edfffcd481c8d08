"""docs/asyncapi.json is generated from the code: it must match what the code generates now."""

from __future__ import annotations

import json

from docs.asyncapi import OUTPUT, generate


def test_the_committed_asyncapi_document_is_up_to_date() -> None:
    fresh = generate()

    assert OUTPUT.read_text(encoding="utf-8") == fresh, (
        "docs/asyncapi.json differs from the contracts and subscriptions in the code: "
        "run `uv run python -m docs.asyncapi` and commit the result"
    )


def test_every_topic_and_its_dead_letter_twin_is_documented() -> None:
    from shared.contracts.topics import topic_names_with_dlqs

    document = json.loads(generate())
    addresses = {channel["address"] for channel in document["channels"].values()}

    assert addresses == set(topic_names_with_dlqs())
    assert document["asyncapi"] == "3.0.0"
