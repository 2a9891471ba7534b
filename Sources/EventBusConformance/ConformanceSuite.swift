// Scenarios arrive with the conformance work item.
import EventBus
