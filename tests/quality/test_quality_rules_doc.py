"""The rules document for stewards is the catalog itself, not a copy that can drift."""

from pathlib import Path

from quality.rules import CATALOG_DOC_HEADER, RULES, rules_markdown

DOC = Path(__file__).resolve().parents[2] / "docs" / "quality_rules.md"


def test_the_rules_document_matches_the_catalog():
    assert DOC.read_text() == CATALOG_DOC_HEADER + rules_markdown() + "\n", (
        "docs/quality_rules.md is stale: run `python -m quality.rules > docs/quality_rules.md`")


def test_every_rule_has_a_hint_and_a_kahn_category():
    for rule in RULES.values():
        assert rule.hint and rule.category in ("conformance", "completeness", "plausibility"), rule.rule
