@smoke @owner:platform-devx
Feature: VS Code in the browser through Coder's app proxy
  Spec 629 §0 and §1.1, check 2. From outside the workspace, code-server is reachable at the app URL Coder
  gives it (a path under the Coder access URL, or a subdomain of the deployment's wildcard app host), and
  only for a signed-in user: without a session, Coder sends the visitor to its login page instead of
  serving the app. What answers must be code-server itself, not some other page the ingress or the
  dashboard serves on that URL. And VS Code works there in a real browser: the workbench loads, opens the
  repository and keeps its connection to code-server, which passes through the same proxy as a WebSocket
  (a proxy that serves the page but drops the connection leaves the developer with "Reconnecting..."
  forever).

  Background:
    Given a ready workspace

  Scenario: A signed-in developer reaches code-server through the app proxy (§1.1 check 2)
    When the developer opens the code-server app with their session
    Then the app proxy serves code-server

  Scenario: The app proxy does not serve the app without a session (§1.1 check 2)
    When someone opens the code-server app without a session
    Then they are redirected to the Coder login page

  @browser
  Scenario: A developer works in VS Code in the browser through the app proxy (§0, §1.1 check 2)
    When the developer opens VS Code in a browser signed in to Coder
    Then VS Code shows the repository and stays connected to its server
