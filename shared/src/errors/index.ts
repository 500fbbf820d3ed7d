export { ERROR_CODES, errorCodes, isErrorCode, type ErrorCode } from './codes.js';
export { EdgefleetError, isEdgefleetError, toEdgefleetError, type EdgefleetErrorOptions, type ErrorInfo } from './edgefleet-error.js';
