@tool:get_deployment_status
Feature: Check on a deployment
  As an analyst relying on a Velociraptor server the server under test deployed
  I want the status and health of that deployment
  So that I know whether my collections have somewhere to go

  @bad_input
  Scenario: The status of a deployment that does not exist is refused by name
    Given I note what the server under test keeps on disk
    When I ask for the status of deployment "vr-raptorspec-none"
    Then the server under test reports an error that names "vr-raptorspec-none"
    And the server under test changed nothing on disk

  @bad_input
  Scenario: A deployment id that is not one is refused by name
    When I ask for the status of deployment "raptorspec-none"
    Then the server under test reports an error that names "raptorspec-none"
