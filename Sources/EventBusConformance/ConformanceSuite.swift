import EventBus

/// The backend-agnostic scenarios every `EventBus` implementation must pass.
///
/// Modelled on Watermill's single pub/sub test suite: a backend hands over a factory of fresh buses
/// and a ``ConformanceFeatures`` description, and gets back named scenarios to run from its own test
/// target. The module does not import XCTest, so any test framework can drive it.
///
/// Each scenario builds its buses through the factory, uses topic and group names with a random
/// suffix (so scenarios never see each other's messages on a shared broker) and shuts its buses down
/// when it ends, pass or fail.
///
/// A backend's XCTest target runs it with one test method per scenario, so a failure names it:
///
/// ```swift
/// final class KafkaConformanceTests: XCTestCase {
///     static let suite = ConformanceSuite(
///         features: ConformanceFeatures(persistent: true, restartBroker: { … }, timeoutScale: 4),
///         makeBus: { try await KafkaEventBus(configuration: …) })
///
///     func testKeepsOrderPerAggregateWhenPublishersAreConcurrent() async throws {
///         do {
///             if case .skipped(let reason) = try await Self.suite.scenario(.keepsOrderPerAggregate).run() {
///                 throw XCTSkip(reason)
///             }
///         } catch let failure as ConformanceFailure {
///             XCTFail(failure.description, file: failure.file, line: failure.line)
///         }
///     }
/// }
/// ```
public struct ConformanceSuite: Sendable {
    /// What the backend supports.
    public let features: ConformanceFeatures
    private let makeBus: @Sendable () async throws -> any EventBus
    private let observed: ObservedBusFactory?

    /// Creates the suite for one backend.
    ///
    /// - Parameters:
    ///   - features: what the backend supports; scenarios it cannot run report skipped.
    ///   - observed: builds buses with chosen metrics and health settings; without it the metrics
    ///     and lag scenarios are skipped.
    ///   - makeBus: returns a new bus on each call; scenarios shut down what they build.
    public init(
        features: ConformanceFeatures = ConformanceFeatures(),
        observed: ObservedBusFactory? = nil,
        makeBus: @escaping @Sendable () async throws -> any EventBus
    ) {
        self.features = features
        self.observed = observed
        self.makeBus = makeBus
    }

    /// Every scenario, in the order of ``ConformanceScenarioID``.
    public var scenarios: [ConformanceScenario] {
        ConformanceScenarioID.allCases.map(scenario)
    }

    /// The scenario with `id`.
    public func scenario(_ id: ConformanceScenarioID) -> ConformanceScenario {
        let features = self.features
        let makeBus = self.makeBus
        let observed = self.observed
        return ConformanceScenario(id: id, skipReason: skipReason(id)) {
            let context = ScenarioContext(
                name: id.rawValue, features: features, makeBus: makeBus, observed: observed)
            do {
                let outcome = try await Self.body(of: id)(context)
                if let hung = await context.shutdownAll() { throw hung }
                return outcome
            } catch {
                _ = await context.shutdownAll()
                throw error
            }
        }
    }

    private func skipReason(_ id: ConformanceScenarioID) -> String? {
        switch id {
        case .keepsOrderPerAggregate where !features.guaranteedOrderPerKey,
            .keepsOrderWhenPipelined where !features.guaranteedOrderPerKey,
            .retriesFailingHandler where !features.guaranteedOrderPerKey:
            return "the backend does not guarantee order per key"
        case .sharesMessagesInGroup where !features.consumerGroups:
            return "the backend has no consumer groups"
        case .redeliversOnClose where !features.consumerGroups || !features.redeliversUnhandledOnClose:
            return "the backend does not redeliver a closed member's messages within its group"
        case .boundsInFlightMessages where features.backpressure == nil:
            return "no backpressure profile given"
        case .reportsMetrics where observed == nil, .reportsConsumerLag where observed == nil:
            return "no observed-bus factory given"
        case .survivesBrokerRestart where features.restartBroker == nil || !features.persistent:
            return "the backend is not persistent or cannot restart its broker"
        case .keepsOrderWhenMemberJoins, .keepsOrderWhenMemberCloses, .keepsOrderWhenMemberShutsDown,
            .keepsOrderWhenFailingMemberLeaves, .keepsOrderWhileMembersChurn:
            if !features.consumerGroups { return "the backend has no consumer groups" }
            return features.membershipOrderGap
        default:
            return nil
        }
    }

    private static func body(of id: ConformanceScenarioID)
        -> @Sendable (ScenarioContext) async throws ->
        ConformanceOutcome
    {
        switch id {
        case .deliversEveryMessageOnce: return deliversEveryMessageOnce
        case .keepsOrderPerAggregate: return keepsOrderPerAggregate
        case .keepsOrderWhenPipelined: return keepsOrderWhenPipelined
        case .handlesAggregatesConcurrently: return handlesAggregatesConcurrently
        case .retriesFailingHandler: return retriesFailingHandler
        case .deadLettersPoisonMessage: return deadLettersPoisonMessage
        case .sharesMessagesInGroup: return sharesMessagesInGroup
        case .fansOutAcrossGroups: return fansOutAcrossGroups
        case .redeliversOnClose: return redeliversOnClose
        case .deadLettersWithoutReader: return deadLettersWithoutReader
        case .deadLettersMalformedEnvelope: return deadLettersMalformedEnvelope
        case .replaysDeadLetter: return replaysDeadLetter
        case .roundTripsTypedEvents: return roundTripsTypedEvents
        case .handlesUnknownEventTypes: return handlesUnknownEventTypes
        case .deadLettersUndecodableTypedEvents: return deadLettersUndecodableTypedEvents
        case .upcastsTypedEvents: return upcastsTypedEvents
        case .boundsInFlightMessages: return boundsInFlightMessages
        case .isolatesTopics: return isolatesTopics
        case .releasesResources: return releasesResources
        case .subscribeReturnsWhenReady: return subscribeReturnsWhenReady
        case .shutdownIsIdempotent: return shutdownIsIdempotent
        case .closesFromInsideHandler: return closesFromInsideHandler
        case .rejectsPublishAfterShutdown: return rejectsPublishAfterShutdown
        case .rejectsInvalidArguments: return rejectsInvalidArguments
        case .rejectsIllegalNames: return rejectsIllegalNames
        case .acceptsEdgeNames: return acceptsEdgeNames
        case .survivesBrokerRestart: return survivesBrokerRestart
        case .roundTripsEdgeValues: return roundTripsEdgeValues
        case .keepsOrderWhenMemberJoins: return keepsOrderWhenMemberJoins
        case .keepsOrderWhenMemberCloses: return keepsOrderWhenMemberCloses
        case .keepsOrderWhenMemberShutsDown: return keepsOrderWhenMemberShutsDown
        case .keepsOrderWhenFailingMemberLeaves: return keepsOrderWhenFailingMemberLeaves
        case .keepsOrderWhileMembersChurn: return keepsOrderWhileMembersChurn
        case .reportsMetrics: return reportsMetrics
        case .reportsConsumerLag: return reportsConsumerLag
        }
    }
}
