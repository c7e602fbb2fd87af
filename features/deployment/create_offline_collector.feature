@tool:create_offline_collector
Feature: Build an offline collector
  As an analyst facing machines that cannot reach any server
  I want a self-contained collector for the artifacts I choose
  So that someone on site can run it and hand me the results

  @bad_input
  Scenario: A collector for an operating system that does not exist is refused by name
    Given I note what the server under test keeps on disk
    When I ask for an offline collector of "Generic.Client.Info" for raptorspec-os systems
    Then the server under test reports an error that names "raptorspec-os"
    And the server under test changed nothing on disk
