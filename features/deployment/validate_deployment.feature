@tool:validate_deployment
Feature: Validate a deployment
  As an engineer handing a fresh Velociraptor deployment to the incident team
  I want its certificates, health and security settings checked
  So that the team does not find the gaps mid-investigation

  @bad_input
  Scenario: Validating a deployment that does not exist is refused by name
    Given I note what the server under test keeps on disk
    When I have deployment "vr-raptorspec-none" validated
    Then the server under test reports an error that names "vr-raptorspec-none"
    And the server under test changed nothing on disk
