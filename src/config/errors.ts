import { IpvmError } from '../util/errors.js'

export const ConfigErrorCode = {
  /** A key that no setting has. */
  UNKNOWN_KEY: 'CONFIG_UNKNOWN_KEY',
  /** A key whose value has the wrong type or is out of range. */
  INVALID_VALUE: 'CONFIG_INVALID_VALUE',
  /** The TOML file cannot be read or parsed. */
  FILE: 'CONFIG_FILE',
  /** The keypair cannot be read or created. */
  KEYPAIR: 'CONFIG_KEYPAIR'
} as const
export type ConfigErrorCode = typeof ConfigErrorCode[keyof typeof ConfigErrorCode]

export class ConfigError extends IpvmError<ConfigErrorCode> {}
