package lib

// Region is where every stack deploys.
const Region = "eu-west-1"
