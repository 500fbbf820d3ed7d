export { createCommandHandler, encodeCommandResult, type CommandHandler, type CommandTarget } from './command-handler.js';
