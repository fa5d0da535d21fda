"""Links from the steward worklist to each record's page in REDCap (``SSC_REDCAP_RECORD_URL``).

The setting is a template of the project's Record Home Page address with ``{record_id}`` where the record goes,
e.g. ``https://redcap.example.org/redcap_v14.5.0/DataEntry/record_home.php?pid=123&id={record_id}`` (open a
record in REDCap and copy the address, replacing the record's id). The record id is REDCap's own ``record_id``
(the worklist shows it as the export has it; the MRN pseudonym is the warehouse's and unknown to REDCap).

- :func:`checked_template`: the template, or ValueError naming the setting when it holds no ``{record_id}`` or is
  not an http(s) address with a host;
- :func:`record_url`: the address of one record, its id percent-encoded (``SSC 01/2`` → ``SSC%2001%2F2``).
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

RECORD_URL_VARIABLE = "SSC_REDCAP_RECORD_URL"
PLACEHOLDER = "{record_id}"


def checked_template(template: str) -> str:
    """``template`` stripped of surrounding blanks, if usable (ValueError naming ``SSC_REDCAP_RECORD_URL`` and
    what to do otherwise); an empty template is returned as is (no links)."""
    template = template.strip()
    if not template:
        return template
    example = ("e.g. https://redcap.example.org/redcap_v14.5.0/DataEntry/record_home.php?pid=123&id={record_id}")
    if PLACEHOLDER not in template:
        raise ValueError(f"{RECORD_URL_VARIABLE} must hold {PLACEHOLDER} where the record id goes ({example}), "
                         f"not {template!r}")
    parts = urlsplit(template.replace(PLACEHOLDER, "x"))
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        raise ValueError(f"{RECORD_URL_VARIABLE} must be an http:// or https:// address of the REDCap server "
                         f"({example}), not {template!r}")
    return template


def record_url(template: str, record_id: str | None) -> str | None:
    """The REDCap page of ``record_id`` (every character but letters, digits and ``_.-~`` percent-encoded, so an
    id cannot change the address's path or query); None without a template or a record id."""
    if not template or not record_id:
        return None
    return template.replace(PLACEHOLDER, quote(str(record_id), safe=""))
