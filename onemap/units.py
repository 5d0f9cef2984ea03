"""Units and numeric equality shared by every layer.

One place for the conversions the code applies (kVA per MVA, W per kW, …) and for how two
voltages are compared: rule tables write ``0.4`` and ``10``, data carry ``0.4000000001``.

>>> mva_to_kva(1.5)
1500.0
>>> same_kv(0.4, 0.4 + 1e-12)
True
>>> kv_key({"0.4": 0.6, "10": 1.0}, 10.0)
'10'
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import numpy as np

__all__ = [
    "A_PER_KA",
    "KVA_PER_MVA",
    "KV_TOLERANCE",
    "KW_M2_TO_MW_KM2",
    "KW_PER_MW",
    "M2_PER_HA",
    "M_PER_KM",
    "W_PER_KW",
    "kv_in",
    "kv_key",
    "kva_to_mva",
    "mva_to_kva",
    "same_kv",
]

KVA_PER_MVA = 1000.0
A_PER_KA = 1000.0
KW_PER_MW = 1000.0
W_PER_KW = 1000.0
M_PER_KM = 1000.0
M2_PER_HA = 10_000.0
# kW per m² → MW per km²: 1 kW/m² = 1e-3 MW / 1e-6 km².
KW_M2_TO_MW_KM2 = 1000.0
# Voltages closer than this are the same voltage (numerical, not a rule number).
KV_TOLERANCE = 1e-9


def mva_to_kva(mva: float | np.ndarray) -> float | np.ndarray:
    """MVA → kVA."""
    return mva * KVA_PER_MVA


def kva_to_mva(kva: float | np.ndarray) -> float | np.ndarray:
    """kVA → MVA."""
    return kva / KVA_PER_MVA


def same_kv(a: float, b: float) -> bool:
    """Whether two voltages (kV) are the same voltage."""
    return abs(float(a) - float(b)) < KV_TOLERANCE


def kv_in(voltage_kv: float, voltages_kv: Iterable[float]) -> bool:
    """Whether ``voltage_kv`` is one of ``voltages_kv``."""
    return any(same_kv(voltage_kv, v) for v in voltages_kv)


def kv_key(table: Mapping[str, object], voltage_kv: float) -> str | None:
    """The key of a table keyed by voltage text (``"0.4"``, ``"10"``) for a voltage, or None.
    Keys that are not numbers (``source``) are skipped."""
    for key in table:
        try:
            if same_kv(float(key), voltage_kv):
                return key
        except ValueError:
            continue
    return None
