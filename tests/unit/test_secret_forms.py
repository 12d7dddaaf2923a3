"""Which values a redactor takes for secrets, and the forms of them it masks: the edges of its rules."""

from __future__ import annotations

import base64
import urllib.parse

import pytest

from workspace_spec.secrets import MASK, MIN_SECRET_LENGTH, Redactor


def redactor_of(*secrets: str | None) -> Redactor:
    redactor = Redactor()
    for secret in secrets:
        redactor.add(secret)
    return redactor


def test_a_fresh_redactor_masks_the_first_secret_it_is_given() -> None:
    assert redactor_of("s3cretValue42").scrub("token s3cretValue42 used") == f"token {MASK} used"


def test_no_secret_at_all_is_ignored() -> None:
    redactor = redactor_of(None, "")
    assert redactor.scrub("nothing to hide here") == "nothing to hide here"


def test_a_secret_of_the_minimum_length_is_masked_and_a_shorter_one_is_not() -> None:
    exact, shorter = "k" * MIN_SECRET_LENGTH, "q" * (MIN_SECRET_LENGTH - 1)
    redactor = redactor_of(exact, shorter)
    assert redactor.scrub(f"{exact} {shorter}") == f"{MASK} {shorter}"


def test_a_short_value_has_none_of_its_forms_masked() -> None:
    """A value too short to be a secret registers nothing, not even its longer base64 forms."""
    value = "abc"
    pair = base64.b64encode(f":{value}".encode()).decode()
    assert len(pair) >= MIN_SECRET_LENGTH
    assert redactor_of(value).scrub(f"{value} {pair}") == f"{value} {pair}"


def test_the_secret_half_of_a_token_is_masked_from_the_minimum_length_on() -> None:
    redactor = redactor_of("tokenid-Zq9x8w7v")  # the half after the dash has exactly the minimum length
    assert redactor.scrub("half: Zq9x8w7v.") == f"half: {MASK}."


def test_everything_after_the_first_dash_is_the_secret_half() -> None:
    redactor = redactor_of("ab-cdefghijkl-mnopqrstuv")
    assert redactor.scrub("echoed cdefghijkl-mnopqrstuv") == f"echoed {MASK}"


def test_a_secret_without_a_dash_has_no_empty_half_whose_forms_would_mask_ordinary_text() -> None:
    """The basic-auth forms of an empty value are the base64 of a bare user name: ordinary text."""
    redactor = redactor_of("plainsecretvalue")
    bare_users = [base64.b64encode(f"{user}:".encode()).decode() for user in ("token", "git", "coder")]
    text = " ".join(bare_users)
    assert redactor.scrub(text) == text


def test_a_secret_with_a_leading_dash_has_no_half() -> None:
    redactor = redactor_of("-Kl2mN5pQ8rS")
    assert redactor.scrub("Kl2mN5pQ8rS alone") == "Kl2mN5pQ8rS alone"


def test_a_secret_with_a_space_and_a_slash_is_masked_percent_encoded_throughout() -> None:
    secret = "pass word/with slash"
    encoded = urllib.parse.quote(secret, safe="")
    assert "%20" in encoded and "%2F" in encoded
    assert redactor_of(secret).scrub(f"GET /login/{encoded}?x=1") == f"GET /login/{MASK}?x=1"


@pytest.mark.parametrize(
    ("secret", "ends_with"),
    [
        ("plainSecret01", "="),  # padded: a text carries it without its padding too
        ("plainSecretW", "X"),  # unpadded and ending in X: no character of it is stripped
    ],
)
def test_the_plain_base64_of_a_secret_is_masked_whole_without_its_padding(secret: str, ends_with: str) -> None:
    encoded = base64.b64encode(secret.encode()).decode()
    assert encoded.endswith(ends_with)
    assert redactor_of(secret).scrub(f"echoed {encoded.rstrip('=')}.") == f"echoed {MASK}."


@pytest.mark.parametrize(
    ("secret", "ends_with"),
    [
        ("url?Secret>0", "="),  # padded: URLs and JWTs carry it without its padding
        ("url?Secret>10W", "X"),  # unpadded and ending in X: no character of it is stripped
    ],
)
def test_the_url_safe_base64_of_a_basic_auth_pair_is_masked_whole(secret: str, ends_with: str) -> None:
    encoded = base64.urlsafe_b64encode(f":{secret}".encode()).decode()
    assert encoded.endswith(ends_with) and encoded != base64.b64encode(f":{secret}".encode()).decode()
    assert redactor_of(secret).scrub(f"auth={encoded.rstrip('=')}&x=1") == f"auth={MASK}&x=1"


def test_a_secret_that_begins_with_another_is_masked_whole() -> None:
    """Longest first: the shorter secret must not mask the start of the longer one and leave its end."""
    short, long = "hunter2hunter2", "hunter2hunter2andmore"
    for redactor in (redactor_of(short, long), redactor_of(long, short)):
        assert redactor.scrub(f"a {long} b {short} c") == f"a {MASK} b {MASK} c"
