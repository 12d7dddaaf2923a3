@smoke @owner:platform-devx
Feature: Working inside the workspace
  Spec 629 §1.1, checks 3 and 4. In a terminal of their workspace (the shell `coder ssh` opens), a
  developer finds the repository checked out, the toolchain installed and code-server up on its own
  port. Optionally, code-server ships the Codex extension.

  Background:
    Given a ready workspace

  Scenario: The repository is checked out (§1.1 check 3)
    When the developer looks at the repository checkout
    Then it is a git work tree whose origin is the expected repository

  Scenario: The toolchain is installed (§1.1 check 3)
    When the developer asks each required tool for its version
      | tool  | needed for                                       |
      | git   | the repository workflow (§1.2)                   |
      | gh    | opening pull requests (§1.2 step 6)              |
      | codex | Codex in the terminal (§1.2 extended path, §2.2) |
    Then every required tool answers with its version

  Scenario: code-server is healthy inside the workspace (§1.1 check 4)
    When the developer asks code-server for its health from inside the workspace
    Then code-server answers that it is up

  @extension
  Scenario: code-server has the Codex extension (§1.1 check 3, optional)
    When the developer lists code-server's extensions
    Then every expected extension is installed
