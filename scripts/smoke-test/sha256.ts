/** The SHA-256 implementation SigV4 signing needs, from Node's crypto (via @smithy/hash-node). */
import { Hash } from '@smithy/hash-node';

export const Sha256 = Hash.bind(null, 'sha256');
