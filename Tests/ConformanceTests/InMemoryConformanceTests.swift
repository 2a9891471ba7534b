import EventBus
import EventBusConformance
import XCTest
