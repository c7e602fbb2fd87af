@tool:destroy_deployment @security
Feature: Destroy a deployment
  As an engineer closing an incident
  I want a deployment torn down only when I say so
  So that a slip of the keyboard cannot wipe an investigation's evidence

  @bad_input
  Scenario: Destroying without my confirmation is refused and changes nothing
    Given I note what the server under test keeps on disk
    When I ask to destroy deployment "vr-raptorspec-none" without confirming
    Then the server under test refuses for want of my confirmation
    And the server under test changed nothing on disk
