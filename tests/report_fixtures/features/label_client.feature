@tool:label_client @os:linux
Feature: Label a client
  As an analyst triaging an incident
  I want to tag endpoints with labels
  So that hunts can target exactly the machines in scope

  Background:
    Given an enrolled linux client

  Scenario: A label I add is on the client in Velociraptor
    When I add the label "case-4711" to the client
    Then Velociraptor shows the client with the label "case-4711"

  @destructive
  Scenario: Removing a label takes it off the client
    Given the client has the label "case-4711"
    When I remove the label "case-4711" from the client
    Then Velociraptor shows the client without the label "case-4711"
