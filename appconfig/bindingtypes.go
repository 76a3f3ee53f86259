package appconfig

import (
	"slices"
	"strings"
	"unicode/utf8"
)

// BindingTypes are the function.json binding types the Functions host (v4)
// knows: its built-in HTTP, timer, manual and warmup bindings, and the
// bindings the extensions of extension bundle v4 (and its preview) register.
// They are spelled as function.json usually writes them; the host compares
// types case-insensitively. funcd runs only some of them (see
// host.KnownBindings); this list is what a misspelt type is compared with.
var BindingTypes = []string{
	// Built into the host and Microsoft.Azure.WebJobs.Extensions.
	"httpTrigger", "http", "timerTrigger", "manualTrigger", "warmupTrigger",
	// Storage.
	"blobTrigger", "blob", "queueTrigger", "queue", "table",
	// Messaging and events.
	"serviceBusTrigger", "serviceBus", "eventHubTrigger", "eventHub", "eventGridTrigger", "eventGrid",
	"kafkaTrigger", "kafka", "rabbitMQTrigger", "rabbitMQ",
	// Databases.
	"cosmosDBTrigger", "cosmosDB", "cosmosDBMongoTrigger", "cosmosDBMongo",
	"sqlTrigger", "sql", "mySqlTrigger", "mySql", "kusto",
	"redisPubSubTrigger", "redisListTrigger", "redisStreamTrigger", "redis",
	// Durable Functions.
	"orchestrationTrigger", "activityTrigger", "entityTrigger", "durableClient", "orchestrationClient",
	// Real-time messaging.
	"signalRTrigger", "signalR", "signalRConnectionInfo", "signalREndpoints", "signalRNegotiation",
	"webPubSubTrigger", "webPubSub", "webPubSubConnection", "webPubSubRequest",
	"socketIOTrigger", "socketIO", "socketIONegotiation",
	// Notifications.
	"sendGrid", "twilioSms",
	// Dapr.
	"daprServiceInvocationTrigger", "daprBindingTrigger", "daprTopicTrigger",
	"daprState", "daprSecret", "daprPublish", "daprInvoke", "daprBinding",
	// Model Context Protocol.
	"mcpToolTrigger", "mcpResourceTrigger", "mcpPromptTrigger", "mcpToolProperty",
	// Azure OpenAI.
	"assistantSkillTrigger", "assistantCreate", "assistantPost", "assistantQuery",
	"textCompletion", "embeddings", "embeddingsStore", "semanticSearch",
	// Others.
	"authenticationEventsTrigger", "connectorTrigger", "fabricItem", "udfProperty", "userDataFunctionContext",
}

// isBindingType reports whether typ is one of BindingTypes, in any case.
func isBindingType(typ string) bool {
	return slices.ContainsFunc(BindingTypes, func(t string) bool { return strings.EqualFold(t, typ) })
}

// SuggestBindingType returns the known binding type closest to a type that
// is not one, when it is close enough to be a misspelling: a few letters
// wrong, missing, extra or swapped, compared case-insensitively. It returns
// "" for a type that is known (in any case) or like none.
func SuggestBindingType(typ string) string {
	return suggest(typ, BindingTypes)
}

// suggest returns the candidate closest to s within a distance that grows
// with the length of s (1 up to 4 letters, 2 up to 10, then 3), or "" when
// s is a candidate or none is that close. Of two equally close candidates
// the first wins.
func suggest(s string, candidates []string) string {
	lower := strings.ToLower(s)
	limit := 3
	switch n := utf8.RuneCountInString(lower); {
	case n == 0:
		return ""
	case n <= 4:
		limit = 1
	case n <= 10:
		limit = 2
	}
	best, bestDist := "", limit+1
	for _, c := range candidates {
		d := editDistance(lower, strings.ToLower(c))
		if d == 0 {
			return ""
		}
		if d < bestDist {
			best, bestDist = c, d
		}
	}
	return best
}

// editDistance is the optimal string alignment distance between a and b:
// the number of single-letter insertions, deletions, substitutions and
// swaps of adjacent letters that turn one into the other.
func editDistance(a, b string) int {
	s, t := []rune(a), []rune(b)
	// rows[i%3] holds the distances of s[:i] to every prefix of t.
	var rows [3][]int
	for i := range rows {
		rows[i] = make([]int, len(t)+1)
	}
	for j := range rows[0] {
		rows[0][j] = j
	}
	for i := 1; i <= len(s); i++ {
		cur, prev := rows[i%3], rows[(i-1)%3]
		cur[0] = i
		for j := 1; j <= len(t); j++ {
			cost := 1
			if s[i-1] == t[j-1] {
				cost = 0
			}
			d := min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			if i > 1 && j > 1 && s[i-1] == t[j-2] && s[i-2] == t[j-1] {
				d = min(d, rows[(i-2)%3][j-2]+1)
			}
			cur[j] = d
		}
	}
	return rows[len(s)%3][len(t)]
}
