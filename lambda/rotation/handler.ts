/**
 * The rotation function (docs/rotation.md): invoked by the schedule with an EventBridge
 * "Scheduled Event" (a step) and from the Lambda console with `{"action":"rotate"}`,
 * `{"action":"step"}`, `{"action":"status"}` or `{"action":"compromised","kid":"…"}`.
 * Returns the ring report; refuses anything else with an error naming those events.
 */
import { createRotationApp } from './app';

const app = createRotationApp(process.env);

export const handler = (event: unknown) => app.handle(event);
