"""Actions: deterministic media/text transforms. Importing this package imports every module in it
(each family module registers its actions), so `ACTIONS` and the catalog derived from it are complete."""

from __future__ import annotations

import importlib
import pkgutil

from stamen.actions.binding import bind_inputs, validate_params
from stamen.actions.catalog import catalog_entry
from stamen.actions.registry import ACTIONS, ActionParams, ActionSpec, Slot, action, all_actions, get_action

MACHINERY = frozenset({"registry", "catalog", "binding"})


def action_modules() -> list[str]:
    """Every module of this package except the machinery, so a new family file registers by existing."""
    return sorted(info.name for info in pkgutil.iter_modules(__path__) if info.name not in MACHINERY)


for _module in action_modules():
    importlib.import_module(f"{__name__}.{_module}")

__all__ = [
    "ACTIONS",
    "ActionParams",
    "ActionSpec",
    "Slot",
    "action",
    "action_modules",
    "all_actions",
    "bind_inputs",
    "catalog_entry",
    "get_action",
    "validate_params",
]
