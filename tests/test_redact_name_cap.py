"""A name no person has is not made a masking pattern, in every area."""

from aftersales.redact import _known_names, known_names, redact_text


def test_a_name_longer_than_any_person_s_is_not_made_a_pattern() -> None:
    with known_names("Alicia Wongsakul", "x" * 101):
        assert _known_names.get() == ("Alicia Wongsakul",)
        assert "Wongsakul" not in redact_text("Alicia Wongsakul called")
