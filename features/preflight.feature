@preflight @owner:platform-devx
Feature: The services the suite relies on are reachable
  Spec 629 §5 and §6. Under a restrictive network policy the suite reaches only what it is configured
  for: Coder (its API and app proxy), the Kubernetes API and, for the E2E flow, GitHub. Coder's ingress
  must pass WebSocket upgrades, which `coder ssh` and the web terminal need. These checks create nothing,
  so CI can run them first: `behave --tags=@preflight`.

  Scenario: Every service the suite is configured to use answers (§6)
    When the suite contacts each service it is configured to use
    Then every one of them answers

  Scenario: Coder's ingress passes WebSocket upgrades (§6)
    When a WebSocket connection to Coder is opened
    Then Coder accepts the upgrade

  Scenario: The suite's Kubernetes identity has the rights its checks need (§5)
    When the suite asks the cluster what its identity may do
    Then every right the checks need is granted
