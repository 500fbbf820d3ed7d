export { createLogger, type AgentLogger, type CreateLoggerOptions, type LogLevel } from './logger.js';
