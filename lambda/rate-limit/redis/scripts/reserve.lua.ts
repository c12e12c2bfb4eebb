/**
 * The check with a reservation: one more request, reserving tokens and an in-flight lease until it
 * is settled. Adds two arguments after the check's: tokens, token history ms.
 */
import { ADMISSION_LUA } from './admission.lua';
import { BASE_LUA } from './base.lua';

export const RESERVE_SCRIPT = `${BASE_LUA}${ADMISSION_LUA}
return admit({ reserve = true, tokens = tonumber(ARGV[OP_ARG + 4]), tokenHistoryMs = tonumber(ARGV[OP_ARG + 5]) })
`;
