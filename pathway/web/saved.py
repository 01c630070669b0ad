"""Saving a filled referral as YAML that `pathway check` (and "open saved referral") reads back.

Only answered fields are written, in the form's order: absent means unknown,
as in any referral file. Multi-line notes use YAML's literal block style so a
saved file stays readable.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

import yaml

from ..definition import Pathway


class _Dumper(yaml.SafeDumper):
    """safe_dump, with multi-line text as literal blocks."""


def _str(dumper: yaml.SafeDumper, text: str) -> yaml.ScalarNode:
    style = "|" if "\n" in text else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", text, style=style)


_Dumper.add_representer(str, _str)


def referral_yaml(pathway: Pathway, values: Mapping[str, Any]) -> str:
    """Validated answers as a referral file (a header comment, then field: value lines)."""
    data: dict[str, Any] = {}
    for fid in pathway.fields:
        value = values.get(fid)
        if value is None:
            continue
        if isinstance(value, tuple):
            value = list(value)
        elif isinstance(value, float) and value.is_integer():
            value = int(value)
        data[fid] = value
    head = (f"# Referral for pathway {pathway.id} version {pathway.version} ({pathway.checklist}), "
            "saved from the pathway web form.\n"
            "# Check it with:  pathway check THIS-FILE.yaml   (fields left out are unknown)\n")
    body = yaml.dump(data, Dumper=_Dumper, sort_keys=False, allow_unicode=True, default_flow_style=None, width=100)
    return head + body


_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")


def safe_filename_part(text: str, fallback: str = "referral") -> str:
    """A piece of a download's file name that is safe everywhere (and in a header)."""
    cleaned = _UNSAFE.sub("_", text).strip("._-")[:64]
    return cleaned or fallback


def shown_filename(name: str) -> str:
    """An uploaded file's name as it may be shown: no folders, no control characters, not too long."""
    base = re.split(r"[\\/]", name)[-1]
    base = "".join(ch for ch in base if ch.isprintable())
    return base[:120] or "saved referral"
