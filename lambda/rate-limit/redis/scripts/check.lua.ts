/** The plain check: one more request, reserving nothing (base.lua.ts and admission.lua.ts say how). */
import { ADMISSION_LUA } from './admission.lua';
import { BASE_LUA } from './base.lua';

export const CHECK_SCRIPT = `${BASE_LUA}${ADMISSION_LUA}
return admit({ reserve = false, tokens = 0 })
`;
