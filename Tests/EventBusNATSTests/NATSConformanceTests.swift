import EventBus
import EventBusConformance
import EventBusNATS
import XCTest

/// Runs the shared conformance scenarios against ``NATSEventBus``, each on a nats-server of its own
/// (file storage), so the broker-restart scenario can restart it; one test per scenario.
final class NATSConformanceTests: XCTestCase {
    private static func configuration(url: String) -> NATSConfiguration {
        var configuration = NATSConfiguration(servers: [url])
        configuration.stream.name = "EBCONF"
        configuration.subjectPrefix = "ebconf"
        configuration.consumer.ackWait = .seconds(5)
        configuration.consumer.fetchWait = .milliseconds(200)
        configuration.reconnect.wait = .milliseconds(100)
        configuration.publish.ackTimeout = .seconds(5)
        configuration.pool.restartBackoff = .milliseconds(1)
        configuration.logger.logLevel = .error
        return configuration
    }

    /// The suite against `server`: persistent, restartable, with a small pool and a small
    /// max-ack-pending for the backpressure scenario (unhandled messages stay in the stream).
    private static func suite(server: NATSTestServer) -> ConformanceSuite {
        let url = server.url
        var bounded = configuration(url: url)
        bounded.pool = ActorPoolConfiguration(actorCount: 16, inboxCapacity: 16)
        bounded.consumer.maxAckPending = 256
        bounded.consumer.fetchBatch = 64
        let boundedConfiguration = bounded
        return ConformanceSuite(
            features: ConformanceFeatures(
                consumerGroups: true,
                guaranteedOrderPerKey: true,
                persistent: true,
                redeliversUnhandledOnClose: true,
                restartBroker: { try server.restart() },
                timeoutScale: 2,
                minimumObservedConcurrency: 8,
                backpressure: .init(
                    maxInFlight: nil,
                    makeBus: { try await NATSEventBus.connect(boundedConfiguration) }
                ),
                // NATS header readers trim values; nats-server's default max_payload is 1 MiB.
                carriesSurroundingWhitespace: false,
                maxMessageBytes: 1_048_576
            ),
            observed: ObservedBusFactory(backend: "nats") { options in
                var observed = configuration(url: url)
                options.apply(to: &observed.pool)
                return try await NATSEventBus.connect(observed)
            },
            makeBus: { try await NATSEventBus.connect(configuration(url: url)) }
        )
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
        try await run(.releasesResources, warmUp: true)
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

    /// Runs one scenario on a server of its own, turning its failure into an XCTest failure at the
    /// suite line that checked it and a skip into `XCTSkip`. `warmUp` runs it once first and ignores
    /// the result: nats.c starts threads of its own the first time a process connects and subscribes
    /// (its timer, garbage-collector and message-delivery threads, one set per process until
    /// `nats_Close`), so a scenario counting threads takes its baseline after them, as it would in a
    /// long-running service.
    private func run(_ id: ConformanceScenarioID, warmUp: Bool = false) async throws {
        let server = try NATSTestServer()
        defer { server.stop() }
        if warmUp { _ = try? await Self.suite(server: server).scenario(id).run() }
        let scenario = Self.suite(server: server).scenario(id)
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
