import EventBus
import EventBusConformance
import EventBusKafka
import XCTest

/// Runs the shared conformance scenarios against ``KafkaEventBus`` on the test broker; one test per
/// scenario so a failure names it.
final class KafkaConformanceTests: XCTestCase {
    private static func configuration(adjust: (inout KafkaConfiguration) -> Void = { _ in }) throws
        -> KafkaConfiguration
    {
        try KafkaTestBroker.configuration(adjust: adjust)
    }

    private static let suite = ConformanceSuite(
        features: ConformanceFeatures(
            consumerGroups: true,
            guaranteedOrderPerKey: true,
            // Tansu keeps topics in memory only, and the tests cannot restart the shared broker.
            persistent: false,
            redeliversUnhandledOnClose: true,
            restartBroker: nil,
            maxRestarts: 3,
            // Group joins on Tansu take seconds (the second JoinGroup waits ~session.timeout/2).
            timeoutScale: 4,
            minimumObservedConcurrency: 8,
            // The broker is the buffer: publishers are never held back by slow consumers, so only
            // memory is bounded, by the pool's inboxes plus librdkafka's prefetch queue.
            backpressure: .init(
                maxInFlight: nil,
                makeBus: {
                    try KafkaEventBus(
                        configuration: configuration {
                            $0.pool = ActorPoolConfiguration(actorCount: 16, inboxCapacity: 16)
                            $0.librdkafkaOptions["queued.max.messages.kbytes"] = "4096"
                        })
                }
            ),
            resourceSlack: .init(threads: 0, fileDescriptors: 0),
            // librdkafka's message.max.bytes default.
            maxMessageBytes: 1_000_000
        ),
        observed: ObservedBusFactory(backend: "kafka") { options in
            try KafkaEventBus(configuration: configuration { options.apply(to: &$0.pool) })
        },
        makeBus: { try KafkaEventBus(configuration: configuration()) }
    )

    override func setUp() async throws {
        try KafkaTestBroker.requireReachable()
    }

    func testDeliversEveryMessageOnceWhenNoFaults() async throws {
        try await run(.deliversEveryMessageOnce)
    }

    func testKeepsOrderPerAggregateWhenPublishersAreConcurrent() async throws {
        try await run(.keepsOrderPerAggregate)
    }

    func testKeepsOrderWhenPublishesArePipelined() async throws {
        try await run(.keepsOrderWhenPipelined)
    }

    func testHandlesDifferentAggregatesConcurrentlyWhenHandlersBlock() async throws {
        try await run(.handlesAggregatesConcurrently)
    }

    func testHandlesMessageAfterTwoRestartsWhenHandlerFailsTwice() async throws {
        try await run(.retriesFailingHandler)
    }

    func testDeadLettersMessageWhenHandlerAlwaysFails() async throws {
        try await run(.deadLettersPoisonMessage)
    }

    func testSharesMessagesWhenConsumersCompeteInOneGroup() async throws {
        try await run(.sharesMessagesInGroup)
    }

    func testDeliversEveryMessageToEachGroupWhenGroupsDiffer() async throws {
        try await run(.fansOutAcrossGroups)
    }

    func testLosesNothingWhenMemberClosesWithMessagesInFlight() async throws {
        try await run(.redeliversOnClose)
    }

    func testKeepsConsumingWhenDeadLettersAreUnread() async throws {
        try await run(.deadLettersWithoutReader)
    }

    func testDeadLettersBytesWhenEnvelopeIsMalformed() async throws {
        try await run(.deadLettersMalformedEnvelope)
    }

    func testHandlesReplayedDeadLetterWhenHandlerWasFixed() async throws {
        try await run(.replaysDeadLetter)
    }

    func testBoundsInFlightMessagesWhenHandlerIsSlow() async throws {
        try await run(.boundsInFlightMessages)
    }

    func testIsolatesTopicsWhenSubscribersDiffer() async throws {
        try await run(.isolatesTopics)
    }

    func testReleasesThreadsAndDescriptorsWhenShutDown() async throws {
        try await run(.releasesResources)
    }

    func testReceivesMessageWhenPublishedRightAfterSubscribe() async throws {
        try await run(.subscribeReturnsWhenReady)
    }

    func testReturnsWhenShutdownIsCalledTwice() async throws {
        try await run(.shutdownIsIdempotent)
    }

    func testReturnsWhenHandlerClosesItsOwnSubscription() async throws {
        try await run(.closesFromInsideHandler)
    }

    func testRejectsPublishWhenShutDown() async throws {
        try await run(.rejectsPublishAfterShutdown)
    }

    func testRefusesEmptyNamesWhenArgumentsAreInvalid() async throws {
        try await run(.rejectsInvalidArguments)
    }

    func testRoundTripsEdgeValuesOrRefusesThemAtPublish() async throws {
        try await run(.roundTripsEdgeValues)
    }

    func testRefusesNamesKafkaOrNATSRefuseWhenPublishingAndSubscribing() async throws {
        try await run(.rejectsIllegalNames)
    }

    func testDeliversWhenNamesAreAtTheEdgeOfTheRules() async throws {
        try await run(.acceptsEdgeNames)
    }

    func testDeliversMessagesWhenBrokerRestarts() async throws {
        try await run(.survivesBrokerRestart)
    }

    func testKeepsOrderPerKeyWhenMemberJoinsDuringBacklog() async throws {
        try await run(.keepsOrderWhenMemberJoins)
    }

    func testKeepsOrderPerKeyWhenMemberClosesMidStream() async throws {
        try await run(.keepsOrderWhenMemberCloses)
    }

    func testKeepsOrderPerKeyWhenMemberShutsDownWithThousandsInFlight() async throws {
        try await run(.keepsOrderWhenMemberShutsDown)
    }

    func testHandlesFailedMessageFirstWhenItsMemberLeavesDuringRetries() async throws {
        try await run(.keepsOrderWhenFailingMemberLeaves)
    }

    func testKeepsOrderPerKeyWhenMembersChurn() async throws {
        try await run(.keepsOrderWhileMembersChurn)
    }

    func testReportsDocumentedMetricsWhenMessagesArePublishedRetriedAndDeadLettered() async throws {
        try await run(.reportsMetrics)
    }

    func testReportsLagAndDegradedHealthWhenTheGroupFallsBehind() async throws {
        try await run(.reportsConsumerLag)
    }

    func testRoundTripsTypedEventsInOrderWhenTwoEventTypesShareATopic() async throws {
        try await run(.roundTripsTypedEvents)
    }

    func testSkipsOrDeadLettersEventWhenItsTypeHasNoHandler() async throws {
        try await run(.handlesUnknownEventTypes)
    }

    func testDeadLettersTypedEventAtOnceWhenPayloadOrVersionCannotBeDecoded() async throws {
        try await run(.deadLettersUndecodableTypedEvents)
    }

    func testHandlesOldPayloadsAsCurrentVersionWhenUpcastersAreRegistered() async throws {
        try await run(.upcastsTypedEvents)
    }

    /// Every scenario has a test above; this fails when a scenario is added without one.
    func testCoversEveryScenarioWhenSuiteGrows() {
        XCTAssertEqual(ConformanceScenarioID.allCases.count, 35, "add a test method for the new scenario")
    }

    /// Runs one scenario, turning its failure into an XCTest failure at the suite line that checked
    /// it and a skip into `XCTSkip`.
    private func run(_ id: ConformanceScenarioID) async throws {
        let scenario = Self.suite.scenario(id)
        do {
            switch try await scenario.run() {
            case .passed(let notes):
                print("conformance \(scenario.name): \(notes.joined(separator: "; "))")
            case .skipped(let reason):
                throw XCTSkip("\(scenario.name): \(reason)")
            }
        } catch let failure as ConformanceFailure {
            XCTFail(failure.description, file: failure.file, line: failure.line)
        } catch let skip as XCTSkip {
            throw skip
        } catch {
            XCTFail("[\(scenario.name)] threw \(error)")
        }
    }
}
