@smoke @owner:platform-devx
Feature: Workspace lifecycle
  Spec 629 §1.1, checks 1, 5 and 6. A developer gets a usable workspace from the template: its build
  succeeds, its agent becomes ready and VS Code (code-server) reports healthy. Stopping a workspace keeps
  its namespace and its /workspaces volume, so work survives a stop; deleting it removes it for good.

  Scenario: A workspace created from the template becomes usable (§1.1 check 1)
    When a developer creates a workspace from the template
    Then the workspace build succeeds
    And the workspace agent becomes ready
    And the code-server app becomes healthy

  @persistence
  Scenario: Stopping and starting a workspace keeps its volume (§1.1 check 5)
    Given a ready workspace of its own with a marker file in its volume
    When the workspace is stopped and started again
    Then its namespace and volume claim outlived the stop unchanged
    And no workspace pod ran while it was stopped
    And the marker file still holds its content

  Scenario: A deleted workspace is gone (§1.1 check 6)
    Given a ready workspace of its own
    When the workspace is deleted
    Then Coder no longer serves the workspace
    And its namespace is removed
