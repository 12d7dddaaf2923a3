import re

import pytest

from workspace_spec.settings import SettingsError, load_settings

TOKEN = "abcdefghij-abcdefghijklmnopqrstuv"


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    for name in ("CODER_URL", "CODER_SESSION_TOKEN", "KUBECONFIG"):
        monkeypatch.delenv(name, raising=False)


def test_no_coder_url_means_the_lab():
    assert not load_settings().is_live


def test_live_target_from_environment(monkeypatch):
    monkeypatch.setenv("CODER_URL", "https://coder.dev.ameide.io/")
    monkeypatch.setenv("CODER_SESSION_TOKEN", TOKEN)
    settings = load_settings()
    assert settings.is_live
    assert settings.coder_url == "https://coder.dev.ameide.io"
    assert settings.token == TOKEN


def test_userdata_wins_over_environment(monkeypatch):
    monkeypatch.setenv("SPEC_TEMPLATE", "from-env")
    assert load_settings().template == "from-env"
    assert load_settings({"template": "from-userdata"}).template == "from-userdata"


def test_lists_come_from_comma_or_space_separated_text(monkeypatch):
    monkeypatch.setenv("SPEC_TOOLS", "git, gh  make")
    assert load_settings().tools == ["git", "gh", "make"]
    assert load_settings({"vscode_extensions": ""}).vscode_extensions == []


def test_repo_dir_follows_workspace_dir():
    assert load_settings({"workspace_dir": "/data/"}).repo_dir == "/data/ameide"
    assert load_settings({"workspace_dir": "/data", "repo_dir": "/src/x"}).repo_dir == "/src/x"


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            {"coder_url": "coder.dev.ameide.io", "coder_session_token": TOKEN},
            "CODER_URL (-D coder_url) must be an http(s) URL",
        ),
        ({"coder_url": "https://coder.example.com/api/v2", "coder_session_token": TOKEN}, "without a path"),
        ({"coder_url": "https://coder.example.com"}, "CODER_SESSION_TOKEN is required"),
        ({"name_prefix": "Spec_Run"}, "SPEC_NAME_PREFIX (-D name_prefix) must be lower-case"),
        ({"name_prefix": "a" * 17}, "at most 16 characters"),
        ({"template": "  "}, "SPEC_TEMPLATE (-D template) must not be empty"),
        ({"build_timeout": "-1"}, "SPEC_BUILD_TIMEOUT"),
    ],
)
def test_bad_input_is_one_clear_line(overrides, expected):
    with pytest.raises(SettingsError) as caught:
        load_settings(overrides)
    message = str(caught.value)
    assert expected in message
    assert "\n" not in message


def test_a_malformed_token_is_rejected_without_being_echoed():
    secret = "not-a-token-but-still-a-secret-xyz"
    with pytest.raises(SettingsError) as caught:
        load_settings({"coder_url": "https://coder.example.com", "coder_session_token": secret})
    assert "is not a Coder session token" in str(caught.value)
    assert secret not in str(caught.value)
    # pydantic's own error text quotes the input; it must not ride along as the cause.
    assert caught.value.__cause__ is None


def test_e2e_needs_a_bot_repository_and_a_token():
    assert "SPEC_E2E_REPO" in load_settings().e2e_problem()
    assert "GITHUB_TOKEN" in load_settings({"e2e_repo": "bots/sandbox"}).e2e_problem()
    ready = load_settings({"e2e_repo": "bots/sandbox", "github_token": "t"})
    assert ready.e2e_problem() == ""
    assert ready.e2e_repo_url == "https://github.com/bots/sandbox.git"


@pytest.mark.parametrize(
    "overrides",
    [
        {"e2e_repo": "ameideio/ameide"},  # the default SPEC_REPO_URL's
        {"e2e_repo": "AmeideIO/Ameide"},  # GitHub's names ignore case
        {"e2e_repo": "ameideio/ameide", "repo_url": "https://github.com/AmeideIO/Ameide/"},
        {"e2e_repo": "bots/sandbox", "repo_url": "https://github.com/bots/sandbox.git"},
        {"e2e_repo": "bots/sandbox", "e2e_repo_url": "https://git.example/ameideio/ameide.git"},
        {"e2e_repo": "ameideio/ameide", "repo_url": "git@github.com:ameideio/ameide.git"},
    ],
)
def test_the_e2e_repository_is_never_the_product_repository(overrides):
    problem = load_settings({**overrides, "github_token": "t"}).e2e_problem()
    assert problem.startswith("SPEC_E2E_REPO (-D e2e_repo)") and "is the product repository" in problem


def test_a_sandbox_beside_the_product_repository_is_fine():
    settings = {"e2e_repo": "ameideio/ameide-sandbox", "github_token": "t"}
    assert load_settings(settings).e2e_problem() == ""
    assert load_settings({**settings, "repo_url": "git@github.com:ameideio/ameide.git"}).e2e_problem() == ""


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        ({"e2e_repo": "just-a-name"}, "SPEC_E2E_REPO (-D e2e_repo) must be owner/name"),
        ({"codex": "yes"}, "SPEC_CODEX (-D codex)"),
        ({"push_auth": "password"}, "SPEC_PUSH_AUTH (-D push_auth)"),
    ],
)
def test_bad_e2e_settings(overrides, expected):
    with pytest.raises(SettingsError, match=re.escape(expected)):
        load_settings(overrides)
