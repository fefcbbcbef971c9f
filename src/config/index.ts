export { defaultConfig, type IpvmConfig, type PartialConfig } from './options.js'
export { loadConfig, configFromEnv, readTomlFile, configKeys, ENV_PREFIX, type ConfigSources } from './load.js'
export { loadOrCreateKeypair, toPem, type KeypairOptions } from './keypair.js'
export { ConfigError, ConfigErrorCode } from './errors.js'
