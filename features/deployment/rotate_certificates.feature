@tool:rotate_certificates @security
Feature: Rotate a deployment's certificates
  As an engineer who suspects a deployment's keys were exposed
  I want its certificates, and if need be its CA, replaced
  So that stolen keys stop working

  @bad_input
  Scenario: Rotating the certificates of a deployment that does not exist is refused by name
    Given I note what the server under test keeps on disk
    When I ask for new certificates, a new CA included, for deployment "vr-raptorspec-none"
    Then the server under test reports an error that names "vr-raptorspec-none"
    And the server under test changed nothing on disk
