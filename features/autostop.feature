@smoke @policy @owner:platform-devx
Feature: Idle workspaces stop by themselves
  Spec 629 §5. Workspace auto-stop is on by default: the template gives every workspace a time to live,
  so nobody has to remember to stop an idle workspace, and the tests never rely on doing so.

  Scenario: A new workspace inherits the template's auto-stop (§5)
    Given the template stops workspaces after a default time
    When a workspace is created without an auto-stop time of its own
    Then the workspace carries the template's auto-stop time
    And its running build has a stop deadline
