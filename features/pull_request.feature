@e2e @owner:platform-devx
Feature: From a workspace to a pull request
  Spec 629 §1.2 and §4 (E2E pass). Inside a fresh workspace from the E2E template, a developer branches,
  commits, pushes and opens a pull request against a bot-writable repository (never the product
  repository), with git authenticated through Coder's GitHub external auth (§2.1). Optionally, Codex
  makes the change (§2.2). Whatever the run creates (pull request, branch, workspace) is removed
  afterwards, pass or fail.

  Background:
    Given a ready workspace from the E2E template
    And git in the workspace can authenticate to GitHub
    And the bot-writable repository is checked out in the workspace

  Scenario: A change made in the workspace becomes a pull request (§1.2 minimal path)
    When a one-line README change made in the shell is proposed as a pull request
    Then the pull request's head is the pushed commit
    And the pull request changes exactly that line
    And the checkout keeps no GitHub credential

  @codex
  Scenario: Codex makes the change inside the workspace (§1.2 extended path)
    When Codex makes a one-line README change that is proposed as a pull request
    Then the pull request's head is the pushed commit
    And the pull request changes exactly that line
