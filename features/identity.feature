@smoke @oidc @owner:platform-devx
Feature: Sign-in through Keycloak on a deployment past its first-run setup
  Spec 629 §1.1, auth expectations. People sign in to Coder with Keycloak (OIDC) in the browser;
  automation uses a session token. These are configuration-level checks: no browser is driven.

  Scenario: Coder signs people in through the Keycloak issuer (§1.1 auth)
    When the deployment's sign-in configuration is read
    Then sign-in with OIDC is enabled
    And Coder names the expected Keycloak issuer
    And that issuer publishes a discovery document naming itself

  Scenario: The deployment is past first-run setup (§1.1 auth)
    When the deployment is asked whether its first user exists
    Then it answers that the initial user has already been created
