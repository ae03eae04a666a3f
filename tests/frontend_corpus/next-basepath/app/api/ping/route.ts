export async function GET() {
  const billing = process.env.BILLING_URL
  const answer = await fetch(`${billing}/status`)
  return Response.json({ billing: answer.ok, region: process.env.VERCEL_REGION })
}
