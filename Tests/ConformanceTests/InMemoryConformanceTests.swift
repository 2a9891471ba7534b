import EventBus
import EventBusConformance
import XCTest

/// Runs the shared conformance scenarios against ``InMemoryEventBus``; one test per scenario so a
/// failure names it.
final class InMemoryConformanceTests: XCTestCase {
    /// A bounded bus for the backpressure scenario: the reference capacities would never fill up.
    ///
    /// Published-but-unhandled messages are retained in the topic's partitions, so they cannot exceed
    /// partitions × partition capacity.
    private static let boundedConfiguration = InMemoryConfiguration(
        partitionsPerTopic: 4,
        partitionCapacity: 64,
        maxInFlightPerSubscription: 128,
        deliveryBatchSize: 32,
        pool: ActorPoolConfiguration(actorCount: 16, inboxCapacity: 16)
    )

    private static let suite = ConformanceSuite(
        features: ConformanceFeatures(
            consumerGroups: true,
            guaranteedOrderPerKey: true,
            persistent: false,
            busesShareBroker: false,
            minimumObservedConcurrency: 8,
            backpressure: .init(
                maxInFlight: boundedConfiguration.partitionsPerTopic * boundedConfiguration.partitionCapacity,
                makeBus: { try InMemoryEventBus(configuration: boundedConfiguration) }
            )
        ),
        observed: ObservedBusFactory(backend: "in_memory") { options in
            var configuration = InMemoryConfiguration()
            options.apply(to: &configuration.pool)
            return try InMemoryEventBus(configuration: configuration)
        },
        makeBus: { try InMemoryEventBus(configuration: InMemoryConfiguration()) }
    )

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
