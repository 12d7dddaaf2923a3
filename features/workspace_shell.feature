@smoke @allure.label.owner:platform-devx
Feature: Working inside the workspace
  Spec 629 §1.1, checks 3 and 4. Over SSH (`coder ssh`), the workspace has the repository checked out,
  the developer toolchain installed, and a healthy code-server on localhost. Optionally, code-server
  ships the Codex extension.

  Background:
    Given a ready workspace

  Scenario: The repository is checked out (§1.1 check 3)
    When the developer looks at the repository checkout over SSH
    Then it is a git work tree whose origin is the expected repository

  Scenario: The toolchain is installed (§1.1 check 3)
    When the developer asks each required tool for its version over SSH
    Then every required tool answers with its version

  Scenario: code-server is healthy inside the workspace (§1.1 check 4)
    When the developer asks code-server for its health on localhost
    Then code-server reports that it is alive

  @extension
  Scenario: code-server has the Codex extension (§1.1 check 3, optional)
    When the developer lists code-server's extensions over SSH
    Then every expected extension is installed
