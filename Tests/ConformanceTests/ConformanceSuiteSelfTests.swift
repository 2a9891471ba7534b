import EventBus
import EventBusConformance
import XCTest

/// Proves the conformance scenarios can fail: each runs against an in-memory bus with one promise
/// broken on purpose and must report a ``ConformanceFailure``.
final class ConformanceSuiteSelfTests: XCTestCase {
    private func expectFailure(
        _ id: ConformanceScenarioID, when fault: FaultyBus.Fault, file: StaticString = #filePath,
        line: UInt = #line
    ) async throws {
        let bounded = InMemoryConfiguration(
            partitionsPerTopic: 4, partitionCapacity: 64, maxInFlightPerSubscription: 128,
            deliveryBatchSize: 32, pool: ActorPoolConfiguration(actorCount: 16, inboxCapacity: 16))
        let suite = ConformanceSuite(
            features: ConformanceFeatures(
                // Each in-memory bus is a broker of its own: members share the scenario's first bus.
                busesShareBroker: false,
                // Short deadlines: a broken bus makes scenarios wait for what never comes.
                timeoutScale: 0.1,
                backpressure: .init(
                    maxInFlight: 256,
                    makeBus: { FaultyBus(try InMemoryEventBus(configuration: bounded), fault: fault) },
                    messageCount: 5000
                )
            ),
            observed: ObservedBusFactory(backend: "in_memory") { options in
                var configuration = InMemoryConfiguration()
                options.apply(to: &configuration.pool)
                return FaultyBus(try InMemoryEventBus(configuration: configuration), fault: fault)
            },
            makeBus: { FaultyBus(try InMemoryEventBus(), fault: fault) }
        )
        do {
            let outcome = try await suite.scenario(id).run()
            XCTFail("\(id) did not notice \(fault): \(outcome)", file: file, line: line)
        } catch let failure as ConformanceFailure {
            XCTAssertEqual(failure.scenario, id.rawValue, file: file, line: line)
            print("conformance self-test \(id) with \(fault): \(failure.message)")
        }
    }

    func testDeliveryScenarioFailsWhenMessagesAreDropped() async throws {
        try await expectFailure(.deliversEveryMessageOnce, when: .dropEveryNth(100))
    }

    func testDeliveryScenarioFailsWhenMessagesAreDuplicated() async throws {
        try await expectFailure(.deliversEveryMessageOnce, when: .duplicateEveryNth(50))
    }

    func testPipelinedOrderScenarioFailsWhenCallsOvertakeEachOther() async throws {
        try await expectFailure(.keepsOrderWhenPipelined, when: .pipelineWithoutOrder)
    }

    func testPipelinedOrderScenarioFailsWhenARefusedCallIsQueuedInPart() async throws {
        try await expectFailure(.keepsOrderWhenPipelined, when: .pipelinePartially)
    }

    func testConcurrencyScenarioFailsWhenHandlersRunOneAtATime() async throws {
        try await expectFailure(.handlesAggregatesConcurrently, when: .serializeHandlers)
    }

    func testRetryScenarioFailsWhenOrderIsReversed() async throws {
        try await expectFailure(.retriesFailingHandler, when: .reverseBatches)
    }

    func testDeadLetterScenarioFailsWhenErrorsAreSwallowed() async throws {
        try await expectFailure(.deadLettersPoisonMessage, when: .swallowHandlerErrors)
    }

    func testReplayScenarioFailsWhenRepeatedEventIDsAreDropped() async throws {
        try await expectFailure(.replaysDeadLetter, when: .dropRepeatedEventIDs)
    }

    func testMetricsScenarioFailsWhenHandlerErrorsAreSwallowed() async throws {
        try await expectFailure(.reportsMetrics, when: .swallowHandlerErrors)
    }

    func testLagScenarioFailsWhenLagIsReportedAsZero() async throws {
        try await expectFailure(.reportsConsumerLag, when: .reportNoLag)
    }

    func testLagScenarioFailsWhenHealthIgnoresLag() async throws {
        try await expectFailure(.reportsConsumerLag, when: .alwaysHealthy)
    }

    func testBackpressureScenarioFailsWhenPublishDoesNotWait() async throws {
        try await expectFailure(.boundsInFlightMessages, when: .publishWithoutBackpressure)
    }

    func testResourceScenarioFailsWhenDescriptorLeaks() async throws {
        try await expectFailure(.releasesResources, when: .leakDescriptor)
    }

    func testResourceScenarioFailsWhenThreadLeaks() async throws {
        try await expectFailure(.releasesResources, when: .leakThread)
    }

    func testShutdownScenarioFailsWhenPublishIsIgnoredAfterShutdown() async throws {
        try await expectFailure(.rejectsPublishAfterShutdown, when: .ignorePublishAfterShutdown)
    }

    func testIsolationScenarioFailsWhenMessagesAreDropped() async throws {
        try await expectFailure(.isolatesTopics, when: .dropEveryNth(50))
    }

    func testFanOutScenarioFailsWhenMessagesAreDuplicated() async throws {
        try await expectFailure(.fansOutAcrossGroups, when: .duplicateEveryNth(50))
    }

    func testCloseFromHandlerScenarioFailsWhenCloseWaitsForTheCallingHandler() async throws {
        try await expectFailure(.closesFromInsideHandler, when: .closeWaitsForHandlers)
    }

    func testNameScenarioFailsWhenIllegalNamesAreRepairedInsteadOfRefused() async throws {
        try await expectFailure(.rejectsIllegalNames, when: .repairIllegalNames)
    }

    func testEdgeNameScenarioFailsWhenMessagesAreDropped() async throws {
        try await expectFailure(.acceptsEdgeNames, when: .dropEveryNth(1))
    }

    func testMembershipScenarioFailsWhenOrderIsReversed() async throws {
        try await expectFailure(.keepsOrderWhenMemberJoins, when: .reverseBatches)
    }

    func testMembershipScenarioFailsWhenAKeyRunsTwiceAtOnce() async throws {
        try await expectFailure(.keepsOrderWhenMemberCloses, when: .handleConcurrentlyTwiceEveryNth(100))
    }

    func testTypedRoundTripScenarioFailsWhenOrderIsReversed() async throws {
        try await expectFailure(.roundTripsTypedEvents, when: .reverseBatches)
    }

    func testUnknownTypeScenarioFailsWhenErrorsAreSwallowed() async throws {
        try await expectFailure(.handlesUnknownEventTypes, when: .swallowHandlerErrors)
    }

    func testUndecodableTypedEventScenarioFailsWhenErrorsAreSwallowed() async throws {
        try await expectFailure(.deadLettersUndecodableTypedEvents, when: .swallowHandlerErrors)
    }

    func testUpcastScenarioFailsWhenOrderIsReversed() async throws {
        try await expectFailure(.upcastsTypedEvents, when: .reverseBatches)
    }
}
