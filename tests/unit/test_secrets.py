"""The redaction itself: planted secrets, in every form, scrubbed wherever text is made."""

import base64
import logging
import urllib.parse

import pytest

from workspace_spec.errors import PlatformFailure
from workspace_spec.secrets import MASK, REDACTOR, Redactor, install_log_scrubbing
from workspace_spec.shell import CommandResult

TOKEN = "Ab3dE6gH9j-Kl2mN5pQ8rS1tU4vW7xY0zA"
CANARY = "ghp_canaryUnitTestToken00000000000000"


@pytest.fixture(autouse=True)
def planted():
    REDACTOR.add(TOKEN)
    REDACTOR.add(CANARY)


@pytest.mark.parametrize(
    "form",
    [
        TOKEN,
        TOKEN.split("-")[1],  # the secret half of a Coder token
        urllib.parse.quote(CANARY, safe=""),
        base64.b64encode(f"x-access-token:{CANARY}".encode()).decode(),
        base64.b64encode(f":{CANARY}".encode()).decode(),
        f"Bearer {CANARY}",
        f"https://x-access-token:{CANARY}@github.com/o/r.git",
    ],
)
def test_every_form_is_scrubbed(form):
    text = f"before {form} after"
    assert REDACTOR.scrub(text).count(MASK) >= 1
    assert CANARY not in REDACTOR.scrub(text) and TOKEN.split("-")[1] not in REDACTOR.scrub(text)


@pytest.mark.parametrize("secret", [CANARY, TOKEN, TOKEN.split("-")[1]])
def test_the_plain_base64_of_a_secret_is_scrubbed_with_or_without_its_padding(secret):
    encoded = base64.b64encode(secret.encode()).decode()
    for form in (encoded, encoded.rstrip("=")):
        scrubbed = REDACTOR.scrub(f"echoed: {form}.")
        assert encoded.rstrip("=") not in scrubbed, scrubbed
        assert scrubbed.startswith(f"echoed: {MASK}"), scrubbed


def test_short_values_are_not_treated_as_secrets():
    redactor = Redactor()
    redactor.add("abc")
    assert redactor.scrub("abc abc") == "abc abc"


def test_child_logger_records_are_scrubbed_at_the_source():
    install_log_scrubbing()
    records = []

    class Keep(logging.Handler):
        def emit(self, record):
            records.append(self.format(record))

    logger = logging.getLogger("httpx")
    handler = Keep()
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        logger.info('HTTP Request: %s %s "%s"', "GET", f"http://h/api?token={CANARY}", "200 OK")
        try:
            raise RuntimeError(f"failed with {TOKEN}")
        except RuntimeError:
            logger.exception("request failed")
    finally:
        logger.removeHandler(handler)
    assert records and not any(CANARY in r or TOKEN in r for r in records)
    assert MASK in records[0] and MASK in records[1]


def test_failure_messages_and_command_summaries_are_scrubbed():
    assert CANARY not in str(PlatformFailure(f"git push answered: fatal: https://u:{CANARY}@github.com"))
    result = CommandResult("git push", 128, "", f"fatal: unable to access 'https://x:{CANARY}@h/'")
    assert CANARY not in result.summary() and MASK in result.summary()


def test_report_files_are_scrubbed_in_place(tmp_path):
    junit = tmp_path / "junit" / "TESTS-x.xml"
    junit.parent.mkdir()
    junit.write_text(f'<failure message="token {TOKEN}">{CANARY}</failure>')
    attachment = tmp_path / "abc-attachment.txt"
    attachment.write_text(f"log {CANARY}")
    assert REDACTOR.scrub_files(tmp_path) == 2
    assert TOKEN not in junit.read_text() and CANARY not in attachment.read_text()


def test_secrets_the_suite_was_never_given_are_masked_by_their_shape() -> None:
    """The platform may echo a token the suite does not know (the linked GitHub token of Coder's external
    auth, a clone URL with credentials): what looks like one is masked all the same."""
    from workspace_spec.secrets import MASK, Redactor

    redactor = Redactor()  # knows no secret at all
    text = (
        "cloning https://x-access-token:gho_" + "a1B2" * 9 + "@github.example/o/r.git failed; "
        "CODER_SESSION_TOKEN=AbCdEfGhIj-abcdefghijklmnopqrstuv; key sk-" + "z" * 30 + "; "
        "Authorization: Bearer eyJhbGciOi.payload.sig"
    )
    scrubbed = redactor.scrub(text)
    for secret in ("gho_", "AbCdEfGhIj-abcdefghijklmnopqrstuv", "sk-zzzz", "eyJhbGciOi", "x-access-token:"):
        assert secret not in scrubbed, scrubbed
    assert scrubbed.count(MASK) == 4 and "github.example/o/r.git" in scrubbed


def test_a_header_echoed_in_a_json_report_is_masked_and_the_json_stays_whole(tmp_path) -> None:
    """Report files are scrubbed as text: a header's value ends at the quote or backslash around it."""
    import json

    message = 'header "Coder-Session-Token: abc123secret" rejected; Authorization: token ghx99secret'
    result = tmp_path / "r-result.json"
    result.write_text(json.dumps({"statusDetails": {"message": message}, "status": "failed"}))
    Redactor().scrub_files(tmp_path)
    scrubbed = json.loads(result.read_text())["statusDetails"]["message"]
    assert "abc123secret" not in scrubbed and "ghx99secret" not in scrubbed
    assert scrubbed == f'header "Coder-Session-Token: {MASK}" rejected; Authorization: {MASK}'


def test_app_keys_and_session_tokens_in_a_url_query_are_masked() -> None:
    """A subdomain app's redirect carries Coder's one-time app key, and a session may ride in a query; httpx
    logs those URLs. The rest of the URL stays readable."""
    from workspace_spec.secrets import MASK, Redactor

    url = "http://code-server--main--ws--admin.apps.example.com/healthz?coder_application_connect_api_key_35e783="
    text = f"GET {url}lDzr2iC0LkY_a84uqc6W&x=1 and /login?coder_session_token=Zq9opaque&y=2"
    scrubbed = Redactor().scrub(text)
    assert "lDzr2iC0LkY" not in scrubbed and "Zq9opaque" not in scrubbed
    assert f"{url}{MASK}&x=1" in scrubbed and f"coder_session_token={MASK}&y=2" in scrubbed
