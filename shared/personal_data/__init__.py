"""Personal data (names, emails, addresses) encrypted per customer, and erased by destroying the customer's key.

Crypto-shredding: each service keeps its own key vault (`vault.py`, a collection in its own database); values are
sealed with AES-GCM under the customer's data key where they are stored (`sealing.py`: the event-log mapper of
`mapper.py`, the read models' store), and opened where they are read. Destroying the key erases every copy at
once, event logs included, without rewriting an immutable log: what was sealed under it opens as `ERASED`.
Lookups by email use a keyed hash (`blind_index.py`) instead of the address itself.
UNSAFE_DISABLE_PERSONAL_DATA_SEALING (dev profile only) stores new values in plaintext, to measure the cost.
"""

from shared.personal_data.blind_index import BlindIndex
from shared.personal_data.sealing import (
    ERASED,
    SEALED,
    PlaintextSealer,
    Sealer,
    sealer_for,
    sealing_disabled,
    sealing_settings_problem,
)
from shared.personal_data.vault import KEYS_COLLECTION, ErasureRaced, KeyVault

__all__ = [
    "ERASED",
    "KEYS_COLLECTION",
    "SEALED",
    "BlindIndex",
    "ErasureRaced",
    "KeyVault",
    "PlaintextSealer",
    "Sealer",
    "sealer_for",
    "sealing_disabled",
    "sealing_settings_problem",
]
