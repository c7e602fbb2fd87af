@tool:generate_ansible_playbook
Feature: Build an Ansible playbook for a deployment
  As an engineer whose fleet is managed with Ansible
  I want a playbook that enrolls hosts with my deployment
  So that I can roll agents out the way I roll out everything else

  @bad_input
  Scenario: A playbook for a deployment that does not exist is refused by name
    Given I note what the server under test keeps on disk
    When I ask for an Ansible playbook for deployment "vr-raptorspec-none"
    Then the server under test reports an error that names "vr-raptorspec-none"
    And the server under test changed nothing on disk
