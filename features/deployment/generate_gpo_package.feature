@tool:generate_gpo_package
Feature: Build a group policy package for a deployment
  As an engineer rolling agents out across a Windows domain
  I want a group policy bundle that enrolls machines with my deployment
  So that the domain installs the agents for me

  @bad_input
  Scenario: A group policy package for a deployment that does not exist is refused by name
    Given I note what the server under test keeps on disk
    When I ask for a group policy package for deployment "vr-raptorspec-none"
    Then the server under test reports an error that names "vr-raptorspec-none"
    And the server under test changed nothing on disk
