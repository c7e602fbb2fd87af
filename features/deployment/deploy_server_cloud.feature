@tool:deploy_server_cloud
Feature: Stand up a Velociraptor server in the cloud
  As an engineer responding where no server exists yet
  I want a Velociraptor server raised with a cloud provider
  So that endpoints anywhere can report to it within minutes

  This spec never raises a server: it asks only for a cloud provider no server knows, and
  expects a refusal that prepares nothing.

  @bad_input
  Scenario: A cloud provider I made up is refused by name
    When I ask for a server in the cloud of "raptorspec-nimbus"
    Then the server under test reports an error that names "raptorspec-nimbus"

  @bad_input @security
  Scenario: A refused cloud server leaves no keys behind
    Given I note what the server under test keeps on disk
    When I ask for a server in the cloud of "raptorspec-nimbus"
    Then the server under test reports an error
    And the server under test changed nothing on disk
