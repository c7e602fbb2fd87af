@tool:check_agent_deployment
Feature: See which agents enrolled with a deployment
  As an analyst who just rolled agents out
  I want to know which endpoints of my deployment have enrolled and which are online
  So that I know which machines I can investigate

  This spec deploys nothing, so it has no deployment of its own to check agents against:
  it asks only that a deployment the server does not know is refused, not answered with
  whatever clients Velociraptor happens to have.

  @bad_input
  Scenario: Agents of a deployment that does not exist are refused by name
    When I ask which agents have enrolled with deployment "vr-raptorspec-none"
    Then the server under test reports an error that names "vr-raptorspec-none"
