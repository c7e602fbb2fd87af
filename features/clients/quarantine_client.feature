@destructive
Feature: Quarantine a client
  As an analyst containing a compromised endpoint
  I want to cut it off the network, except from Velociraptor, and to lift that again
  So that the attacker loses the machine while I keep investigating it

  Velociraptor quarantines an endpoint by collecting the quarantine artifact of the
  endpoint's own OS (Linux.Remediation.Quarantine on Linux) and by labelling the client
  "Quarantine"; lifting it runs the same artifact with its remove-policy switch and takes
  the label off again.

  The quarantine call takes no artifact parameters, so a server sends the real thing. The
  lab's client cannot apply it: it runs as an unprivileged user (embedded lab) or without
  capabilities (docker lab), so no scenario can cut this machine's network; with a client
  that could, the scenarios are skipped. A quarantine a scenario sets up itself points at no
  firewall tool and checks a forbidden address on 127.0.0.1. Every collection and label a
  scenario leaves is removed afterwards.

  Background:
    Given an enrolled linux client that cannot apply a real quarantine

  @tool:quarantine_client @os:linux @arg:client_id
  Scenario: Quarantining a client asks it to apply the quarantine policy
    When I quarantine the client
    Then the server under test reports success
    And Velociraptor shows a new quarantine collection on the client that applies the policy

  @tool:quarantine_client @os:linux
  Scenario: Quarantining a linux client uses the linux quarantine
    When I quarantine the client
    Then Velociraptor shows a new collection of "Linux.Remediation.Quarantine" on the client
    And Velociraptor shows no new collection of another OS's quarantine on the client

  @tool:quarantine_client @os:linux
  Scenario: A client I quarantine is labelled Quarantine in Velociraptor
    When I quarantine the client
    Then Velociraptor shows the client labelled Quarantine

  @tool:quarantine_client @os:linux @arg:message
  Scenario: The message I give goes with the quarantine
    When I quarantine the client with the message "Call the SOC on 4711"
    Then Velociraptor shows a new quarantine collection on the client with the message "Call the SOC on 4711"

  @tool:quarantine_client @os:linux @security
  Scenario Outline: A message holding <shape> goes with the quarantine unchanged
    When I quarantine the client with the message "<message>"
    Then Velociraptor shows a new quarantine collection on the client with the message "<message>"

    Examples:
      | shape                     | message                                |
      | a quote, a newline and -- | Call the SOC' OR 1=1\n--               |
      | a backslash-escaped quote | Call the SOC\\' OR 1=1 --              |
      | a semicolon               | Call the SOC'; SELECT * FROM info() -- |
      | braces                    | Call the SOC} {                        |
      | non-ASCII text            | Appelez le SOC, ünï-日本-ö'              |

  @tool:quarantine_client @os:linux
  Scenario: The collection the server names for a quarantine is the one Velociraptor started
    When I quarantine the client
    Then every collection the server under test names is a new quarantine collection on the client in Velociraptor

  @tool:quarantine_client @os:linux @arg:quarantine
  Scenario: Lifting a quarantine asks the client to remove the policy
    Given the client is quarantined
    When I lift the quarantine from the client
    Then the server under test reports success
    And Velociraptor shows a new quarantine collection on the client that removes the policy

  @tool:quarantine_client @os:linux
  Scenario: Lifting a quarantine from a linux client uses the linux quarantine
    Given the client is quarantined
    When I lift the quarantine from the client
    Then Velociraptor shows a new collection of "Linux.Remediation.Quarantine" on the client
    And Velociraptor shows no new collection of another OS's quarantine on the client

  @tool:quarantine_client @os:linux
  Scenario: Lifting a quarantine takes the Quarantine label off
    Given the client is quarantined
    When I lift the quarantine from the client
    Then Velociraptor shows the client no longer labelled Quarantine

  @tool:quarantine_client @bad_input
  Scenario: Quarantining a client that does not exist is refused
    When I quarantine the client "C.0000000000000000"
    Then the server under test answers that "C.0000000000000000" is not found
    And Velociraptor shows no collection for the client "C.0000000000000000"
