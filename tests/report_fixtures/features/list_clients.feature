@tool:list_clients
Feature: List the clients
  As an analyst starting an investigation
  I want the clients the server knows, with their hostname and OS
  So that I pick the right machine to collect from

  Scenario: Every client listed has the hostname and OS Velociraptor shows
    When I ask the server under test for the clients
    Then every client it lists has the hostname and OS Velociraptor shows
