@smoke @allure.label.owner:platform-devx
Feature: VS Code in the browser through Coder's app proxy
  Spec 629 §1.1, check 2. From outside the workspace, code-server is reachable at the app URL Coder gives
  it (a path under the Coder access URL, or a subdomain of the deployment's wildcard app host), and only
  for a signed-in user: without a session, Coder sends the visitor to its login page instead of serving
  the app. What answers must be code-server itself, not some other page the ingress or the dashboard
  serves on that URL.

  Background:
    Given a ready workspace

  Scenario: A signed-in developer reaches code-server through the app proxy (§1.1 check 2)
    When the developer opens the code-server app with their session
    Then the app proxy serves code-server

  Scenario: The app proxy does not serve the app without a session (§1.1 check 2)
    When someone opens the code-server app without a session
    Then they are redirected to the Coder login page
