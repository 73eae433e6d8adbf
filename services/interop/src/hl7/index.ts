/** The HL7 v2 feed: the messages sent to the interface engine, the results read from laboratories, and MLLP to carry both. */
export { HL7_VERSION, type Hl7Parties, type MessageMeta } from './segments.ts';
export { registrationMessage, orderMessage, resultMessage } from './messages.ts';
export { readResult, type InboundResult, type ReadOptions } from './inbound-result.ts';
export { hl7ErrorCodes, SUPPORTED_VERSIONS, type ErrorLocation, type Hl7ErrorCode, type Refusal } from './inbound-header.ts';
export { acknowledgement, type AckMeta, type AckProblem } from './acknowledgement.ts';
export { escapeText, unescapeText } from './escaping.ts';
export { hl7Timestamp, instantOfHl7 } from './time.ts';
export { MAX_FRAME_BYTES } from './mllp-framing.ts';
export { MllpError, sendOverMllp, type AckCode, type Acknowledged } from './mllp.ts';
export { startMllpListener, type MllpListener, type MllpListenerOptions } from './mllp-listener.ts';
